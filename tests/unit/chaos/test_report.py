"""The chaos report's table."""

from __future__ import annotations

from chaos.report import ScenarioResult, markdown, percentile


def test_percentile_is_nearest_rank() -> None:
    assert percentile([], 0.5) is None
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 0.5) == 50.0
    assert percentile(values, 0.99) == 99.0
    assert percentile([3.0], 0.99) == 3.0


def test_markdown_has_a_row_per_scenario_and_lists_violations() -> None:
    results = [
        ScenarioResult("steady", writes=10, converge_seconds=[1.0, 2.0], settle_seconds=0.5),
        ScenarioResult(
            "leader-killed",
            faults=["SIGKILL replica-0"],
            writes=12,
            violations=["orphan: Service ns/x"],
            peak_rss_bytes=150 << 20,
        ),
    ]
    text = markdown(results, services=20, replicas=3)
    rows = [line for line in text.splitlines() if line.startswith("| ")]
    assert rows[2] == "| steady | none | 10 | 0 | 1.0 s | 2.0 s | 0.5 s | 0 MiB |"
    assert rows[3] == "| leader-killed | SIGKILL replica-0 | 12 | 1 | — | — | — | 150 MiB |"
    assert "- leader-killed: orphan: Service ns/x" in text
