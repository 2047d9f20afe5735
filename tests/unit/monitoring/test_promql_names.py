"""The dashboard and the alert rules are well formed, and the tokenizer that finds the
metric names of their queries finds those and nothing else."""

from __future__ import annotations

import pytest
import yaml

from tests.monitoring import (
    ALERTS,
    alert_expressions,
    dashboard_expressions,
    exported_names,
    metric_names,
)


@pytest.mark.parametrize(
    ("expr", "names"),
    [
        ("up", {"up"}),
        ('up{job=~".*model-agent.*"} == 0', {"up"}),
        (
            "sum by (controller) (rate(a_total[5m]))"
            " / sum by (controller) (rate(b_total[5m])) > 0.1",
            {"a_total", "b_total"},
        ),
        (
            'histogram_quantile(0.99, sum by (name, le) (rate(q_bucket{controller=~"$c"}'
            "[$__rate_interval])))",
            {"q_bucket"},
        ),
        ('max(m{name="x"}) < 1 or absent(m{name="x"})', {"m"}),
        ("a > 0 unless on (instance) sum by (instance) (b) > 1e-9", {"a", "b"}),
        ("sum without (pod) (rate(x[1h] offset 1d)) and bool y", {"x", "y"}),
        ('label_replace(z, "dst", "$1", "src", "(.*)")', {"z"}),
    ],
)
def test_metric_names_of_an_expression(expr: str, names: set[str]) -> None:
    assert metric_names(expr) == names


def test_alert_rules_are_complete() -> None:
    rules = yaml.safe_load(ALERTS.read_text())
    for group in rules["groups"]:
        for rule in group["rules"]:
            assert rule["labels"]["severity"] in {"critical", "warning", "info"}, rule["alert"]
            assert {"summary", "description"} <= set(rule["annotations"]), rule["alert"]
    assert all(metric_names(expr) for expr in alert_expressions().values())


def test_every_dashboard_query_names_a_metric() -> None:
    queries = dashboard_expressions()
    assert len(queries) > 20
    assert all(metric_names(expr) for expr in queries.values()), queries


def test_exported_names_include_the_series_of_declared_families() -> None:
    text = "\n".join(
        [
            "# HELP h_seconds latency",
            "# TYPE h_seconds histogram",
            "# TYPE c_total counter",
            'c_total{controller="x"} 1.0',
            "g 3",
        ]
    )
    assert exported_names(text) == {
        "h_seconds",
        "h_seconds_bucket",
        "h_seconds_sum",
        "h_seconds_count",
        "c_total",
        "g",
    }
