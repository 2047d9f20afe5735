"""The write-loop guard: repeated writes of one object by one controller are reported
once per window, counted, and forgotten once they leave the window."""

from __future__ import annotations

import pytest
from prometheus_client import CollectorRegistry
from structlog.testing import capture_logs

from ome.runtime.metrics import RuntimeMetrics
from ome.runtime.writeloop import WriteLoopGuard, current_controller

PATH = "/api/v1/namespaces/team/configmaps/modelconfig-chat"


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def guard(threshold: int = 3, window: float = 60.0) -> tuple[WriteLoopGuard, RuntimeMetrics, Clock]:
    metrics = RuntimeMetrics(CollectorRegistry())
    clock = Clock()
    return (
        WriteLoopGuard(metrics.write_loops, threshold=threshold, window=window, clock=clock),
        metrics,
        clock,
    )


def loops(metrics: RuntimeMetrics, controller: str = "isvc") -> float:
    value = metrics.registry.get_sample_value(
        "controller_runtime_write_loops_total", {"controller": controller}
    )
    return value or 0.0


@pytest.fixture(autouse=True)
def in_a_reconcile() -> object:
    token = current_controller.set("isvc")
    yield
    current_controller.reset(token)


def test_two_owners_trading_an_object_is_a_loop() -> None:
    loop, metrics, clock = guard()
    with capture_logs() as logs:
        for turn in range(5):
            clock.now += 0.01
            loop.observe("PATCH", PATH, {"owner": "a" if turn % 2 == 0 else "b"})
    # a, b, a (1 repeat), b (2), a (3): reported at the fifth write
    assert loops(metrics) == 1
    (warning,) = [entry for entry in logs if entry["log_level"] == "warning"]
    assert warning["controller"] == "isvc"
    assert warning["path"] == PATH
    assert warning["repeated_writes"] == 3


def test_the_same_content_fenced_over_new_versions_is_a_loop() -> None:
    loop, metrics, clock = guard()
    for version in range(4):
        clock.now += 0.01
        metadata = {"name": "modelconfig-chat", "resourceVersion": str(100 + version)}
        loop.observe("PATCH", PATH, {"metadata": metadata, "data": {"same": "yes"}})
    assert loops(metrics) == 1


def test_new_content_each_time_is_not_a_loop() -> None:
    loop, metrics, clock = guard()
    for generation in range(50):
        clock.now += 0.01
        loop.observe("PATCH", PATH, {"status": {"readyReplicas": generation}})
    assert loops(metrics) == 0


def test_reported_once_per_window_then_again_if_it_goes_on() -> None:
    loop, metrics, clock = guard(window=10.0)
    for _ in range(100):
        clock.now += 0.05
        loop.observe("PATCH", PATH, {"same": True})
    assert loops(metrics) == 1  # 5 s of writes: one window
    for _ in range(200):
        clock.now += 0.05
        loop.observe("PATCH", PATH, {"same": True})
    assert loops(metrics) == 2


def test_writes_spread_beyond_the_window_are_not_a_loop() -> None:
    loop, metrics, clock = guard(window=10.0)
    for _ in range(20):
        clock.now += 11.0
        loop.observe("PATCH", PATH, {"same": True})
    assert loops(metrics) == 0


def test_objects_and_controllers_are_counted_apart() -> None:
    loop, metrics, clock = guard()
    for turn in range(6):
        clock.now += 0.01
        loop.observe("PATCH", f"{PATH}-{turn}", {"same": True})
        token = current_controller.set(f"other-{turn}")
        loop.observe("PATCH", PATH, {"same": True})
        current_controller.reset(token)
    assert loops(metrics) == 0


def test_writes_outside_a_reconcile_are_not_watched() -> None:
    loop, metrics, _ = guard()
    token = current_controller.set(None)
    for _ in range(10):
        loop.observe("PATCH", PATH, {"same": True})
    current_controller.reset(token)
    assert loops(metrics) == 0


def test_memory_follows_recent_writes_only() -> None:
    loop, _, clock = guard(window=1.0)
    for number in range(3000):
        clock.now += 0.01
        loop.observe("PATCH", f"{PATH}-{number}", {})
    assert len(loop._writes) <= 1024 + 100


@pytest.mark.parametrize(("threshold", "window"), [(0, 1.0), (1, 0.0)])
def test_bad_settings_are_refused(threshold: int, window: float) -> None:
    with pytest.raises(ValueError, match=r"threshold|window"):
        guard(threshold, window)
