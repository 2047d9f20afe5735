"""Soak mode's pure parts: the metrics read, the summary of the series."""

from __future__ import annotations

from chaos.soak import Series, SoakSample, markdown, metric_sum, summary

METRICS = """\
# HELP workqueue_depth Current depth of workqueue
# TYPE workqueue_depth gauge
workqueue_depth{controller="a",name="a",priority="0"} 3.0
workqueue_depth{controller="b",name="b",priority="0"} 2.0
workqueue_depth_other 100.0
python_asyncio_tasks 41.0
"""


def test_a_metric_is_summed_over_its_labels() -> None:
    assert metric_sum(METRICS, "workqueue_depth") == 5.0
    assert metric_sum(METRICS, "python_asyncio_tasks") == 41.0
    assert metric_sum(METRICS, "absent") is None


def sample(seconds: float, pid: int, rss: int, fds: int) -> SoakSample:
    return SoakSample(seconds, "replica-0", pid, rss, fds, tasks=40, queue_depth=0.0)


def test_each_series_has_its_first_largest_and_last_value() -> None:
    samples = [sample(0, 7, 100, 30), sample(30, 7, 150, 35), sample(60, 7, 120, 31)]
    found = {s.measure: s for s in summary(samples)}
    assert found["rss_bytes"] == Series("replica-0", 7, "rss_bytes", 100, 150, 120)
    assert found["fds"] == Series("replica-0", 7, "fds", 30, 35, 31)
    assert found["tasks"] == Series("replica-0", 7, "tasks", 40, 40, 40)


def test_a_restarted_process_is_a_series_of_its_own() -> None:
    series = summary([sample(0, 7, 100, 30), sample(30, 8, 90, 20)])
    assert [(s.pid, s.measure, s.first) for s in series if s.measure == "fds"] == [
        (7, "fds", 30),
        (8, "fds", 20),
    ]


def test_the_summary_in_the_report() -> None:
    shown = markdown([sample(0, 7, 100 << 20, 30), sample(30, 7, 120 << 20, 31)])
    assert "Soak: 2 samples over 30 s." in shown
    assert "| replica-0 (7) | rss_bytes | 100 MiB | 120 MiB | 120 MiB |" in shown
    assert "| replica-0 (7) | fds | 30 | 31 | 31 |" in shown
