"""The alert rules of deploy/monitoring as Prometheus reads them: ``promtool check rules``
accepts them, and ``promtool test rules`` runs their unit tests (ome-alerts_test.yaml:
series in, alerts with their labels and annotations out). promtool is built from the
Prometheus Go module into the control-plane binary cache the first time."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tests.integration.helpers import built_tool
from tests.monitoring import ALERTS, alert_expressions

pytestmark = pytest.mark.integration

RULE_TESTS = ALERTS.with_name("ome-alerts_test.yaml")


@pytest.fixture(scope="module")
def promtool() -> Path:
    return built_tool("promtool")


async def run(*command: str | Path) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        *map(str, command), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    out, _ = await asyncio.wait_for(process.communicate(), timeout=120)
    assert process.returncode is not None
    return process.returncode, out.decode()


async def test_the_rules_load(promtool: Path) -> None:
    code, out = await run(promtool, "check", "rules", ALERTS)
    assert code == 0, out
    assert f"SUCCESS: {len(alert_expressions())} rules found" in out


async def test_the_rules_fire_as_their_tests_expect(promtool: Path) -> None:
    code, out = await run(promtool, "test", "rules", RULE_TESTS)
    assert code == 0, out
